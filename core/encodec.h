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

#endif
