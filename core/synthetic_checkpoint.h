/* Random-weight MusicGen checkpoints at the released models' exact shapes, written to disk in the
 * Hugging Face layout (config.json + model.safetensors, BF16), so benchmarks run through the real
 * loader without downloading weights.
 *
 * Control thread (file I/O). Nothing is owned past the call.
 */
#ifndef DGXM_SYNTHETIC_CHECKPOINT_H
#define DGXM_SYNTHETIC_CHECKPOINT_H

#include "dgxm/status.h"

#include <stdint.h>

/* size: "small", "medium" or "large" (decoder 1024/24, 1536/48, 2048/48), or one of them with
 * fewer decoder layers as "small:2" (tests at the real widths); stereo doubles the codebooks.
 * Writes dir/config.json and dir/model.safetensors (dir must exist). */
dgxm_status dgxm_synthetic_checkpoint_write(const char *dir, const char *size, int stereo,
                                            uint64_t seed, dgxm_error *err);

#endif
