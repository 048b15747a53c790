/* The generator's UI (ui:X11UI, urn:dgx-music:generator#ui): the LV2 UI entry points. It
 * needs urid:map; it embeds in ui:parent when the host gives one (suil does, for Ardour,
 * jalv.gtk3, Qtractor) and tells ui:resize its size; it is pumped through ui:idleInterface.
 * The scale factor is the ui:scaleFactor option, else $GDK_SCALE or Xft.dpi / 96, else 1.
 *
 * Exported: lv2ui_descriptor only (exports.map). Thread: the host's UI thread. */
#include "controller.h"
#include "protocol.h"
#include "x11.h"

#include <lv2/atom/atom.h>
#include <lv2/log/logger.h>
#include <lv2/options/options.h>
#include <lv2/ui/ui.h>
#include <lv2/urid/urid.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct gen_ui {
    ui_controller *c;
    ui_window *w;
} gen_ui;

static double option_scale(const LV2_Options_Option *opt, LV2_URID_Map *map)
{
    if (!opt || !map)
        return 0;
    LV2_URID key = map->map(map->handle, LV2_UI__scaleFactor);
    LV2_URID atom_float = map->map(map->handle, LV2_ATOM__Float);
    for (; opt->key; opt++)
        if (opt->key == key && opt->type == atom_float && opt->size == sizeof(float))
            return *(const float *)opt->value;
    return 0;
}

static LV2UI_Handle instantiate(const LV2UI_Descriptor *descriptor, const char *plugin_uri,
                                const char *bundle_path, LV2UI_Write_Function write_function,
                                LV2UI_Controller controller, LV2UI_Widget *widget,
                                const LV2_Feature *const *features)
{
    (void)descriptor;
    (void)bundle_path;
    LV2_URID_Map *map = NULL;
    LV2_Log_Log *log = NULL;
    LV2UI_Resize *resize = NULL;
    const LV2_Options_Option *options = NULL;
    void *parent = NULL;
    for (int i = 0; features && features[i]; i++) {
        const char *uri = features[i]->URI;
        void *data = features[i]->data;
        if (!strcmp(uri, LV2_URID__map))
            map = data;
        else if (!strcmp(uri, LV2_LOG__log))
            log = data;
        else if (!strcmp(uri, LV2_UI__resize))
            resize = data;
        else if (!strcmp(uri, LV2_OPTIONS__options))
            options = data;
        else if (!strcmp(uri, LV2_UI__parent))
            parent = data;
    }
    LV2_Log_Logger logger;
    lv2_log_logger_init(&logger, map, log);
    if (strcmp(plugin_uri, DGXM_GEN_URI) != 0) {
        lv2_log_error(&logger, "dgx-music generator UI: made for <%s>, not <%s>\n", DGXM_GEN_URI,
                      plugin_uri);
        return NULL;
    }
    if (!map) {
        lv2_log_error(&logger, "dgx-music generator UI: the host lacks the urid:map feature\n");
        return NULL;
    }
    double scale = option_scale(options, map);
    if (!(scale >= 0.5 && scale <= 8))
        scale = ui_x11_scale_hint();
    if (!(scale >= 0.5 && scale <= 8))
        scale = 1;

    gen_ui *ui = calloc(1, sizeof *ui);
    if (!ui)
        return NULL;
    ui->c = ui_controller_new(map, write_function, controller, scale);
    char err[256] = "";
    ui->w = ui->c ? ui_window_new((unsigned long)(uintptr_t)parent, ui->c, err, sizeof err) : NULL;
    if (!ui->w) {
        lv2_log_error(&logger, "dgx-music generator UI: %s\n", ui->c ? err : "out of memory");
        ui_controller_free(ui->c);
        free(ui);
        return NULL;
    }
    /* an X11UI's widget is its window's XID, as a pointer (the LV2 UI convention) */
    *widget = (LV2UI_Widget)(uintptr_t)ui_window_id(ui->w); // NOLINT(performance-no-int-to-ptr)
    if (resize) {
        int width, height;
        ui_window_size(ui->w, &width, &height);
        resize->ui_resize(resize->handle, width, height);
    }
    return ui;
}

static void cleanup(LV2UI_Handle handle)
{
    gen_ui *ui = handle;
    ui_window_free(ui->w);
    ui_controller_free(ui->c);
    free(ui);
}

static void port_event(LV2UI_Handle handle, uint32_t port_index, uint32_t buffer_size,
                       uint32_t format, const void *buffer)
{
    gen_ui *ui = handle;
    ui_controller_port_event(ui->c, port_index, buffer_size, format, buffer);
}

static int idle(LV2UI_Handle handle)
{
    gen_ui *ui = handle;
    return ui_window_idle(ui->w);
}

static const void *extension_data(const char *uri)
{
    static const LV2UI_Idle_Interface idle_iface = { idle };
    if (!strcmp(uri, LV2_UI__idleInterface))
        return &idle_iface;
    return NULL;
}

static const LV2UI_Descriptor descriptor = { DGXM_GEN_UI_URI, instantiate, cleanup, port_event,
                                             extension_data };

LV2_SYMBOL_EXPORT const LV2UI_Descriptor *lv2ui_descriptor(uint32_t index)
{
    return index == 0 ? &descriptor : NULL;
}
