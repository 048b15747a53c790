/* Generation over the delayed token grid. Codebook k of a channel is delayed by its index within
 * the channel (stereo interleaves L0 R0 L1 R1 ..., so delay = k / channels); column 0 is all
 * special tokens; column s holds frame s - 1 - delay. A window of n frames takes n + D steps
 * (D = the largest delay). Longer clips use windows that re-prefill the last
 * (window - stride) frames of the previous window as a prompt, as the reference implementation
 * of MusicGen extends generation. */
#include "generate.h"

#include "decoder_fused.h"

#include <stdlib.h>
#include <string.h>

typedef struct window_plan {
    int window, stride;
} window_plan;

static window_plan plan_windows(const dgxm_decoder_config *cfg, double frame_rate,
                                const dgxm_generate_options *opt)
{
    window_plan w = { opt->window_frames, opt->stride_frames };
    if (w.window <= 0)
        w.window = (int)(30.0 * frame_rate);
    if (w.stride <= 0)
        w.stride = (int)(18.0 * frame_rate);
    int max_delay = cfg->num_codebooks / cfg->audio_channels - 1;
    if (w.window > cfg->max_position_embeddings - max_delay - 1)
        w.window = cfg->max_position_embeddings - max_delay - 1;
    if (w.stride > w.window)
        w.stride = w.window;
    return w;
}

/* Calls fn(ctx, prompt_frames, window_frames, offset) for each window in order; mirrors the
 * reference's loop: continue while offset + prompt < total. */
typedef dgxm_status (*window_fn)(void *ctx, int prompt, int frames, int offset);

static dgxm_status for_each_window(window_plan w, int total, window_fn fn, void *ctx)
{
    int offset = 0, prompt = 0;
    do {
        int frames = total - offset < w.window ? total - offset : w.window;
        dgxm_status s = fn(ctx, prompt, frames, offset);
        if (s)
            return s;
        prompt = frames - w.stride > 0 ? frames - w.stride : 0;
        offset += w.stride;
    } while (offset + prompt < total);
    return DGXM_OK;
}

static dgxm_status count_steps(void *ctx, int prompt, int frames, int offset)
{
    (void)prompt, (void)offset;
    int *steps = ctx;
    steps[0] += frames + steps[1];
    return DGXM_OK;
}

int dgxm_generate_total_steps(const dgxm_decoder_config *cfg, double frame_rate,
                              const dgxm_generate_options *opt)
{
    int steps[2] = { 0, cfg->num_codebooks / cfg->audio_channels - 1 };
    for_each_window(plan_windows(cfg, frame_rate, opt), opt->frames, count_steps, steps);
    return steps[0];
}

typedef struct generation {
    dgxm_decoder *dec;
    const dgxm_decoder_config *cfg;
    const float *conditioning;
    int lt;
    const dgxm_generate_options *opt;
    int32_t *codes; /* [K][total] */
    int total, max_delay, steps_done, steps_total;
    float *logits; /* [rows][K][V] */
    float *guided; /* [V] */
    dgxm_token_weight *work;
    int32_t *grid;             /* [K][window + D + 1] */
    dgxm_decoder_fused *fused; /* the whole step on the device, when the backend offers it */
    dgxm_error *err;
} generation;

static int delay_of(const generation *g, int k)
{
    return k / g->cfg->audio_channels;
}

static int choose(generation *g, int rows, int k, int step)
{
    const int V = g->cfg->vocab_size, K = g->cfg->num_codebooks;
    const float *cond = g->logits + (size_t)k * V;
    const double scale = g->opt->sampling.guidance;
    if (rows == 2) {
        const float *uncond = g->logits + ((size_t)K + k) * V;
        for (int i = 0; i < V; i++)
            g->guided[i] = uncond[i] + (cond[i] - uncond[i]) * (float)scale;
        cond = g->guided;
    }
    float u = g->opt->sampling.greedy
                  ? 0.0f
                  : dgxm_philox_uniform(g->opt->sampling.seed, (uint32_t)step, (uint32_t)k);
    return dgxm_sample_token(cond, V, &g->opt->sampling, u, g->work);
}

/* One step on the host: the decoder's logits come back and each codebook is chosen here. */
static dgxm_status host_step(generation *g, dgxm_decoder_state *st, int32_t *column, int rows,
                             int step, int columns, int prompt, int frames)
{
    const int K = g->cfg->num_codebooks;
    for (int k = 0; k < K; k++)
        column[k] = g->grid[k * columns + step - 1];
    dgxm_status s = dgxm_decoder_step(st, column, g->logits, g->err);
    for (int k = 0; !s && k < K; k++) {
        int t = step - 1 - delay_of(g, k);
        if (t < prompt || t >= frames)
            continue; /* a prompt cell keeps its code; an out-of-range cell stays special */
        g->grid[k * columns + step] = choose(g, rows, k, g->steps_done);
    }
    return s;
}

/* One window: frames [offset, offset + frames) of which the first `prompt` are known. */
static dgxm_status run_window(void *ctx, int prompt, int frames, int offset)
{
    generation *g = ctx;
    const int K = g->cfg->num_codebooks, pad = g->cfg->pad_token_id;
    const int columns = frames + g->max_delay + 1;
    const int rows = g->opt->sampling.guidance > 1.0 ? 2 : 1;
    for (int k = 0; k < K; k++)
        for (int s = 0; s < columns; s++) {
            int t = s - 1 - delay_of(g, k);
            g->grid[k * columns + s] =
                t >= 0 && t < prompt ? g->codes[(size_t)k * g->total + offset + t] : pad;
        }
    int32_t *column = malloc((size_t)K * sizeof *column);
    if (!column)
        return dgxm_error_set(g->err, DGXM_ERR_NOMEM, "generate: out of memory");
    dgxm_decoder_state *st = NULL;
    dgxm_status s = DGXM_OK;
    if (g->fused)
        s = dgxm_decoder_fused_window(g->fused, g->grid, columns, prompt, frames, g->steps_done,
                                      g->err);
    else if (!(st = dgxm_decoder_state_new(g->dec, rows, columns - 1, g->conditioning, g->lt,
                                           g->err)))
        s = g->err->status;
    for (int step = 1; !s && step < columns; step++) {
        if (g->fused) {
            s = dgxm_decoder_fused_step(g->fused, column, true, g->err);
            for (int k = 0; !s && k < K; k++)
                g->grid[k * columns + step] = column[k];
        } else {
            s = host_step(g, st, column, rows, step, columns, prompt, frames);
        }
        for (int k = 0; !s && k < K; k++) {
            int t = step - 1 - delay_of(g, k);
            if (t >= prompt && t < frames)
                g->codes[(size_t)k * g->total + offset + t] = g->grid[k * columns + step];
        }
        g->steps_done++;
        if (!s && g->opt->frames_ready) {
            /* The last codebook (delay max_delay) wrote frame step - 1 - max_delay; frames of
             * the re-prefilled prompt were final before the window started. */
            int ready = step - g->max_delay < prompt ? prompt : step - g->max_delay;
            *g->opt->frames_ready = offset + (ready < frames ? ready : frames);
        }
        if (!s && g->opt->on_step && !g->opt->on_step(g->opt->ctx, g->steps_done, g->steps_total))
            s = dgxm_error_set(g->err, DGXM_ERR_CANCELLED, "generation cancelled at step %d",
                               g->steps_done);
    }
    free(column);
    dgxm_decoder_state_free(st);
    return s;
}

/* The device-resident step for this generation, or NULL to step on the host (no fused step in
 * the backend, or a model it does not fuse: both are normal, not errors). */
static dgxm_status open_fused(generation *g, window_plan plan)
{
    if (g->opt->op_by_op)
        return DGXM_OK;
    dgxm_error e = { 0 };
    const int rows = g->opt->sampling.guidance > 1.0 ? 2 : 1;
    const int longest = plan.window < g->total ? plan.window : g->total;
    g->fused = dgxm_decoder_fused_new(g->dec, rows, longest + g->max_delay, g->conditioning, g->lt,
                                      &g->opt->sampling, &e);
    if (g->fused || e.status == DGXM_ERR_UNSUPPORTED)
        return DGXM_OK;
    *g->err = e;
    return e.status;
}

dgxm_status dgxm_generate_codes(dgxm_decoder *dec, const dgxm_decoder_config *cfg,
                                double frame_rate, const float *conditioning, int lt,
                                const dgxm_generate_options *opt, int32_t *codes, dgxm_error *err)
{
    dgxm_error local;
    err = dgxm_error_or(err, &local);
    if (opt->frames < 1)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "frames %d: at least 1 is needed",
                              opt->frames);
    dgxm_status s = dgxm_sampling_validate(&opt->sampling, err);
    if (s)
        return s;
    window_plan plan = plan_windows(cfg, frame_rate, opt);
    const int K = cfg->num_codebooks, V = cfg->vocab_size;
    generation g = { .dec = dec,
                     .cfg = cfg,
                     .conditioning = conditioning,
                     .lt = lt,
                     .opt = opt,
                     .codes = codes,
                     .total = opt->frames,
                     .err = err };
    g.max_delay = K / cfg->audio_channels - 1;
    g.steps_total = dgxm_generate_total_steps(cfg, frame_rate, opt);
    g.logits = malloc((size_t)2 * K * V * sizeof *g.logits);
    g.guided = malloc((size_t)V * sizeof *g.guided);
    g.work = malloc((size_t)V * sizeof *g.work);
    g.grid = malloc((size_t)K * (plan.window + g.max_delay + 1) * sizeof *g.grid);
    if (!g.logits || !g.guided || !g.work || !g.grid)
        s = dgxm_error_set(err, DGXM_ERR_NOMEM, "generate: out of memory");
    else if (!(s = open_fused(&g, plan)))
        s = for_each_window(plan, opt->frames, run_window, &g);
    dgxm_decoder_fused_free(g.fused);
    free(g.logits);
    free(g.guided);
    free(g.work);
    free(g.grid);
    return s;
}
