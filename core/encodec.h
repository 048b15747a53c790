/* The EnCodec decoder of a MusicGen checkpoint: codes -> residual-quantizer latent ->
 * SEANet decoder (convs, LSTM, transposed convs, residual blocks) -> waveform.
 *
 * Ownership: dgxm_encodec_new folds each weight-norm pair into a plain weight once and uploads
 * everything (float32) into the backend; dgxm_encodec_free releases it. The backend must outlive
 * it.
 * Threads: every call on the engine thread that owns the backend.
 */
#ifndef DGXM_ENCODEC_H
#define DGXM_ENCODEC_H

#include "backend.h"
#include "checkpoint.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct dgxm_encodec dgxm_encodec;

/* Reads the decoder path that dgxm_checkpoint_open already checked (its layer plan and conv
 * tensors, either weight-norm naming); the checkpoint is only read during the call. */
dgxm_encodec *dgxm_encodec_new(dgxm_backend *backend, const dgxm_checkpoint *ck, dgxm_error *err);
void dgxm_encodec_free(dgxm_encodec *codec);

/* Decodes one codec channel: codes[q * code_stride + t] for q < num_quantizers, t < frames
 * (each below codebook_size), into audio[frames * hop_length] (host memory). */
dgxm_status dgxm_encodec_decode(dgxm_encodec *codec, const int32_t *codes, int code_stride,
                                int frames, float *audio, dgxm_error *err);

/* Wall time of each decoder layer, for `dgxm bench --profile`: while on, every layer of a decode
 * ends with a wait for the device (a copy of 4 bytes to the host), so a profiled decode is a
 * little slower than a plain one. Turning it on clears the figures; they add up over decodes. */
typedef struct dgxm_encodec_layer_time {
    const char *kind;     /* "latent", "conv", "convtr", "resblock", "lstm", "elu" */
    int channels, length; /* of the layer's output */
    double ms;
} dgxm_encodec_layer_time;

dgxm_status dgxm_encodec_set_profile(dgxm_encodec *codec, bool on, dgxm_error *err);
/* Copies up to max entries (the latent, then one per layer); returns how many there are. */
int dgxm_encodec_profile(const dgxm_encodec *codec, dgxm_encodec_layer_time *out, int max);

#endif
