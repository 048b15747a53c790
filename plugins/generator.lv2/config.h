/* Where the model and device come from when the user set none: the DGXM_MODEL / DGXM_DEVICE
 * environment variables, else the user's config file $XDG_CONFIG_HOME/dgx-music/config
 * (~/.config/dgx-music/config when XDG_CONFIG_HOME is unset), lines `model=/path` and
 * `device=cpu|cuda|cuda:N` ('#' starts a comment). Worker thread (reads files). */
#ifndef DGXM_GEN_CONFIG_H
#define DGXM_GEN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* The model folder for `asked` ("" = the default) into out. False with msg saying where it
 * looked when there is none. */
bool gen_config_model(const char *asked, char *out, size_t size, char *msg, size_t msg_size);

/* The device into out: DGXM_DEVICE, the config file's device=, else "" (the caller's default:
 * CUDA when built in, falling back to the CPU). */
void gen_config_device(char *out, size_t size);

#endif
