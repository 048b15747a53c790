/* See x11.h. UI thread. */
#include "x11.h"

#include "draw.h"
#include "utf8.h"

#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <X11/Xresource.h>
#include <X11/Xutil.h>
#include <X11/keysym.h>
#include <cairo-xlib.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ui_window {
    Display *dpy;
    Window win;
    bool top_level;
    bool closed;
    int width, height;
    cairo_surface_t *surface;
    cairo_surface_t *measure_surface; /* a 1x1 image: its context measures text */
    cairo_t *measure_cr;
    XIM im;
    XIC ic;
    Atom clipboard, utf8, targets, incr, paste_prop, wm_delete, wm_protocols;
    char *copied; /* what this window offers on CLIPBOARD */
    size_t copied_len;
    bool button_down;
    ui_controller *c;
};

static double scale_from_resources(void)
{
    Display *dpy = XOpenDisplay(NULL);
    if (!dpy)
        return 0;
    double scale = 0;
    const char *rms = XResourceManagerString(dpy);
    const char *dpi = rms ? strstr(rms, "Xft.dpi:") : NULL;
    if (dpi) {
        double v = strtod(dpi + 8, NULL);
        if (v >= 48 && v <= 480)
            scale = v / 96.0;
    }
    XCloseDisplay(dpy);
    return scale;
}

double ui_x11_scale_hint(void)
{
    const char *gdk = getenv("GDK_SCALE");
    if (gdk) {
        double v = strtod(gdk, NULL);
        if (v >= 1 && v <= 4)
            return v;
    }
    return scale_from_resources();
}

ui_window *ui_window_new(unsigned long parent, ui_controller *c, char *err, size_t err_size)
{
    ui_window *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    w->c = c;
    w->dpy = XOpenDisplay(NULL);
    if (!w->dpy) {
        snprintf(err, err_size, "cannot open the X display \"%s\"",
                 getenv("DISPLAY") ? getenv("DISPLAY") : "(DISPLAY unset)");
        free(w);
        return NULL;
    }
    int screen = DefaultScreen(w->dpy);
    w->top_level = parent == 0;
    Window p = parent ? (Window)parent : RootWindow(w->dpy, screen);
    w->width = (int)(UI_WIDTH * c->layout.scale + 0.5);
    w->height = (int)(UI_HEIGHT * c->layout.scale + 0.5);
    XSetWindowAttributes attr = { 0 };
    attr.background_pixel = BlackPixel(w->dpy, screen);
    attr.event_mask = ExposureMask | KeyPressMask | ButtonPressMask | ButtonReleaseMask |
                      Button1MotionMask | FocusChangeMask | StructureNotifyMask;
    w->win =
        XCreateWindow(w->dpy, p, 0, 0, (unsigned)w->width, (unsigned)w->height, 0, CopyFromParent,
                      InputOutput, CopyFromParent, CWBackPixel | CWEventMask, &attr);
    XStoreName(w->dpy, w->win, "dgx-music generator");
    XSizeHints *hints = XAllocSizeHints();
    if (hints) {
        hints->flags = PMinSize | PBaseSize;
        hints->min_width = hints->base_width = w->width;
        hints->min_height = hints->base_height = w->height;
        XSetWMNormalHints(w->dpy, w->win, hints);
        XFree(hints);
    }
    w->clipboard = XInternAtom(w->dpy, "CLIPBOARD", False);
    w->utf8 = XInternAtom(w->dpy, "UTF8_STRING", False);
    w->targets = XInternAtom(w->dpy, "TARGETS", False);
    w->incr = XInternAtom(w->dpy, "INCR", False);
    w->paste_prop = XInternAtom(w->dpy, "DGXM_PASTE", False);
    w->wm_protocols = XInternAtom(w->dpy, "WM_PROTOCOLS", False);
    w->wm_delete = XInternAtom(w->dpy, "WM_DELETE_WINDOW", False);
    if (w->top_level)
        XSetWMProtocols(w->dpy, w->win, &w->wm_delete, 1);

    /* An input method for composed and non-Latin text; without one, keysyms are converted. */
    XSetLocaleModifiers("");
    w->im = XOpenIM(w->dpy, NULL, NULL, NULL);
    if (w->im)
        w->ic = XCreateIC(w->im, XNInputStyle, XIMPreeditNothing | XIMStatusNothing, XNClientWindow,
                          w->win, XNFocusWindow, w->win, NULL);

    w->surface = cairo_xlib_surface_create(w->dpy, w->win, DefaultVisual(w->dpy, screen), w->width,
                                           w->height);
    w->measure_surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1);
    w->measure_cr = cairo_create(w->measure_surface);
    ui_draw_font(w->measure_cr, &c->layout);
    ui_controller_set_measure(c, ui_draw_measure, w->measure_cr);
    XMapRaised(w->dpy, w->win);
    XFlush(w->dpy);
    return w;
}

void ui_window_free(ui_window *w)
{
    if (!w)
        return;
    ui_controller_set_measure(w->c, NULL, NULL); /* the controller may outlive the window */
    cairo_destroy(w->measure_cr);
    cairo_surface_destroy(w->measure_surface);
    cairo_surface_destroy(w->surface);
    if (w->ic)
        XDestroyIC(w->ic);
    if (w->im)
        XCloseIM(w->im);
    XDestroyWindow(w->dpy, w->win);
    XCloseDisplay(w->dpy);
    free(w->copied);
    free(w);
}

unsigned long ui_window_id(const ui_window *w)
{
    return w->win;
}

void ui_window_size(const ui_window *w, int *width, int *height)
{
    *width = w->width;
    *height = w->height;
}

static void redraw(ui_window *w)
{
    cairo_t *cr = cairo_create(w->surface);
    cairo_push_group(cr); /* drawn off screen, shown at once: no flicker */
    ui_draw(cr, w->c, w->width, w->height);
    cairo_pop_group_to_source(cr);
    cairo_paint(cr);
    cairo_destroy(cr);
    cairo_surface_flush(w->surface);
    XFlush(w->dpy);
    w->c->redraw = false;
}

/* ---- selections ------------------------------------------------------------------------------ */

static void request_paste(ui_window *w, Atom selection)
{
    XConvertSelection(w->dpy, selection, w->utf8, w->paste_prop, w->win, CurrentTime);
}

/* Latin-1 (a STRING target) to UTF-8; dst holds 2 * n + 1 bytes. */
static size_t latin1_to_utf8(const unsigned char *s, size_t n, char *dst)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x80) {
            dst[k++] = (char)s[i];
        } else {
            dst[k++] = (char)(0xc0 | (s[i] >> 6));
            dst[k++] = (char)(0x80 | (s[i] & 0x3f));
        }
    }
    dst[k] = '\0';
    return k;
}

static void selection_arrived(ui_window *w, const XSelectionEvent *ev)
{
    if (ev->property == None) {
        if (ev->target == w->utf8) /* no UTF-8 offered: ask for Latin-1 */
            XConvertSelection(w->dpy, ev->selection, XA_STRING, w->paste_prop, w->win, CurrentTime);
        return;
    }
    Atom type;
    int fmt;
    unsigned long n, after;
    unsigned char *data = NULL;
    if (XGetWindowProperty(w->dpy, w->win, w->paste_prop, 0, 1L << 16, True, AnyPropertyType, &type,
                           &fmt, &n, &after, &data) != Success)
        return;
    if (type == w->incr) {
        ui_controller_paste(w->c, "", 0);
        snprintf(w->c->model.message, sizeof w->c->model.message,
                 "The clipboard holds too much text to paste (incremental transfer).");
        w->c->model.message_is_error = true;
    } else if (data && fmt == 8 && type == XA_STRING) {
        char *u = malloc(2 * n + 1);
        if (u) {
            ui_controller_paste(w->c, u, latin1_to_utf8(data, n, u));
            free(u);
        }
    } else if (data && fmt == 8) {
        ui_controller_paste(w->c, (const char *)data, n);
    }
    if (data)
        XFree(data);
    w->c->redraw = true;
}

static void copy_selection(ui_window *w)
{
    const char *text;
    size_t len;
    if (!ui_controller_selection(w->c, &text, &len))
        return;
    char *copy = malloc(len + 1);
    if (!copy)
        return;
    memcpy(copy, text, len);
    copy[len] = '\0';
    free(w->copied);
    w->copied = copy;
    w->copied_len = len;
    XSetSelectionOwner(w->dpy, w->clipboard, w->win, CurrentTime);
}

static void serve_selection(ui_window *w, const XSelectionRequestEvent *req)
{
    XSelectionEvent ev = { .type = SelectionNotify,
                           .display = req->display,
                           .requestor = req->requestor,
                           .selection = req->selection,
                           .target = req->target,
                           .property = None,
                           .time = req->time };
    Atom prop = req->property != None ? req->property : req->target;
    if (req->target == w->targets) {
        Atom offered[] = { w->targets, w->utf8, XA_STRING };
        XChangeProperty(w->dpy, req->requestor, prop, XA_ATOM, 32, PropModeReplace,
                        (const unsigned char *)offered, 3);
        ev.property = prop;
    } else if (w->copied && (req->target == w->utf8 || req->target == XA_STRING)) {
        XChangeProperty(w->dpy, req->requestor, prop, req->target, 8, PropModeReplace,
                        (const unsigned char *)w->copied, (int)w->copied_len);
        ev.property = prop;
    }
    XSendEvent(w->dpy, req->requestor, False, 0, (XEvent *)&ev);
}

/* ---- keyboard -------------------------------------------------------------------------------- */

/* A keysym's code point (Latin-1 and the Unicode keysym range), 0 when none. */
static unsigned keysym_ucs(KeySym k)
{
    if ((k >= 0x20 && k <= 0x7e) || (k >= 0xa0 && k <= 0xff))
        return (unsigned)k;
    if (k >= 0x1000100 && k <= 0x110ffff)
        return (unsigned)(k - 0x1000000);
    return 0;
}

static bool special_key(ui_window *w, KeySym k, unsigned mods)
{
    ui_controller *c = w->c;
    bool ctrl = mods & UI_MOD_CTRL;
    if (ctrl && (k == XK_v || k == XK_V)) {
        request_paste(w, w->clipboard);
        return true;
    }
    if ((mods & UI_MOD_SHIFT) && k == XK_Insert) {
        request_paste(w, w->clipboard);
        return true;
    }
    if (ctrl && (k == XK_c || k == XK_C || k == XK_x || k == XK_X)) {
        copy_selection(w);
        if (k == XK_x || k == XK_X)
            ui_controller_key(c, UI_KEY_DELETE, 0);
        return true;
    }
    if (ctrl && (k == XK_a || k == XK_A)) {
        ui_controller_key(c, UI_KEY_SELECT_ALL, 0);
        return true;
    }
    static const struct {
        KeySym sym;
        ui_key key;
    } map[] = {
        { XK_Tab, UI_KEY_TAB },       { XK_ISO_Left_Tab, UI_KEY_TAB },
        { XK_Return, UI_KEY_ENTER },  { XK_KP_Enter, UI_KEY_ENTER },
        { XK_Escape, UI_KEY_ESCAPE }, { XK_BackSpace, UI_KEY_BACKSPACE },
        { XK_Delete, UI_KEY_DELETE }, { XK_KP_Delete, UI_KEY_DELETE },
        { XK_Left, UI_KEY_LEFT },     { XK_KP_Left, UI_KEY_LEFT },
        { XK_Right, UI_KEY_RIGHT },   { XK_KP_Right, UI_KEY_RIGHT },
        { XK_Up, UI_KEY_UP },         { XK_KP_Up, UI_KEY_UP },
        { XK_Down, UI_KEY_DOWN },     { XK_KP_Down, UI_KEY_DOWN },
        { XK_Home, UI_KEY_HOME },     { XK_KP_Home, UI_KEY_HOME },
        { XK_End, UI_KEY_END },       { XK_KP_End, UI_KEY_END },
        { XK_space, UI_KEY_SPACE },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (map[i].sym == k) {
            if (k == XK_ISO_Left_Tab)
                mods |= UI_MOD_SHIFT;
            ui_controller_key(c, map[i].key, mods);
            return true;
        }
    }
    return ctrl; /* other Ctrl combinations type nothing */
}

static void key_press(ui_window *w, XKeyEvent *ev)
{
    char text[64];
    KeySym k = NoSymbol;
    int n = 0;
    if (w->ic) {
        Status st;
        n = Xutf8LookupString(w->ic, ev, text, sizeof text - 1, &k, &st);
        if (st == XBufferOverflow || st == XLookupNone)
            n = 0;
        if (st == XLookupChars)
            k = NoSymbol;
    } else {
        XLookupString(ev, text, sizeof text - 1, &k, NULL); /* Latin-1: the keysym is used */
    }
    if (n <= 0 && k != NoSymbol) { /* no text (no input method, or a C locale's): the keysym */
        unsigned cp = keysym_ucs(k);
        n = cp ? (int)dgxm_utf8_encode(cp, text) : 0;
    }
    unsigned mods = ((ev->state & ShiftMask) ? UI_MOD_SHIFT : 0) |
                    ((ev->state & ControlMask) ? UI_MOD_CTRL : 0);
    if (k != NoSymbol && special_key(w, k, mods))
        return;
    if (n > 0 && !(ev->state & (ControlMask | Mod1Mask)))
        ui_controller_text(w->c, text, (size_t)n);
}

/* ---- events ---------------------------------------------------------------------------------- */

static void handle(ui_window *w, XEvent *ev)
{
    ui_controller *c = w->c;
    switch (ev->type) {
    case Expose:
        if (ev->xexpose.count == 0)
            c->redraw = true;
        break;
    case ConfigureNotify:
        if (ev->xconfigure.width != w->width || ev->xconfigure.height != w->height) {
            w->width = ev->xconfigure.width;
            w->height = ev->xconfigure.height;
            cairo_xlib_surface_set_size(w->surface, w->width, w->height);
            c->redraw = true;
        }
        break;
    case KeyPress: key_press(w, &ev->xkey); break;
    case ButtonPress: {
        XButtonEvent *b = &ev->xbutton;
        unsigned mods = (b->state & ShiftMask) ? UI_MOD_SHIFT : 0;
        XSetInputFocus(w->dpy, w->win, RevertToParent, CurrentTime);
        if (b->button == Button1) {
            w->button_down = true;
            ui_controller_press(c, b->x, b->y, mods);
        } else if (b->button == Button2) {
            ui_controller_press(c, b->x, b->y, 0);
            request_paste(w, XA_PRIMARY);
        } else if (b->button == Button4 || b->button == Button5) {
            ui_controller_scroll(c, b->x, b->y, b->button == Button4 ? -1 : 1);
        }
        break;
    }
    case ButtonRelease:
        if (ev->xbutton.button == Button1)
            w->button_down = false;
        break;
    case MotionNotify:
        if (w->button_down)
            ui_controller_drag(c, ev->xmotion.x, ev->xmotion.y);
        break;
    case FocusIn:
        if (w->ic)
            XSetICFocus(w->ic);
        break;
    case FocusOut:
        if (w->ic)
            XUnsetICFocus(w->ic);
        ui_controller_focus_lost(c);
        break;
    case SelectionNotify: selection_arrived(w, &ev->xselection); break;
    case SelectionRequest: serve_selection(w, &ev->xselectionrequest); break;
    case SelectionClear:
        free(w->copied);
        w->copied = NULL;
        break;
    case ClientMessage:
        if (ev->xclient.message_type == w->wm_protocols &&
            (Atom)ev->xclient.data.l[0] == w->wm_delete)
            w->closed = true;
        break;
    default: break;
    }
}

int ui_window_idle(ui_window *w)
{
    while (XPending(w->dpy)) {
        XEvent ev;
        XNextEvent(w->dpy, &ev);
        if (XFilterEvent(&ev, None))
            continue;
        handle(w, &ev);
    }
    if (w->c->redraw)
        redraw(w);
    return w->closed ? 1 : 0;
}
