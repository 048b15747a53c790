/* Tempo-synced loops: lengths in frames, the crossfade at the loop point, the loop phase of a
 * host position, the tempo hint added to the prompt. Pure functions; any thread (the audio
 * thread uses gen_sync_phase only). */
#ifndef DGXM_GEN_SYNC_H
#define DGXM_GEN_SYNC_H

#include <stddef.h>
#include <stdint.h>

#define GEN_SYNC_XFADE_SECONDS 0.010 /* crossfade at the loop point */
/* A host position this close (in beats) to where the plugin's own count says the transport is
 * continues the count instead of replacing it: hosts send bar/barBeat rounded to their tick grid
 * (Ardour: 1920 ticks per beat, 12.5 frames at 120 bpm and 48 kHz, re-sent every block while
 * exporting), and following the rounded value makes playback wander by a frame a block. Two
 * ticks; a relocation moves much further. */
#define GEN_SYNC_JITTER_BEATS (2.0 / 1920.0)

/* Frames in `bars` bars of `beats_per_bar` beats at `bpm`: round(bars * beats_per_bar * 60 /
 * bpm * rate), to the nearest frame (at 48 kHz, 4 bars of 4/4 at 93 bpm: 495483.87 -> 495484).
 * 0 when an argument is not positive. */
uint64_t gen_sync_loop_frames(int bars, double beats_per_bar, double bpm, double rate);

/* Frames of the loop-point crossfade at rate (480 at 48 kHz). */
uint64_t gen_sync_xfade_frames(double rate);

/* Turns `frames` >= loop_frames + xfade interleaved stereo frames into a loop of exactly
 * loop_frames: the xfade frames past the loop end are faded (equal power) into the loop's first
 * xfade frames, so playback wraps from its last frame to its first without a seam. In place. */
void gen_sync_make_loop(float *audio, uint64_t frames, uint64_t loop_frames, uint64_t xfade);

/* The frame of a loop of loop_frames frames (loop_beats beats long) that plays at the host's
 * musical position `beats` (beats since bar 0, beat 0): loops start on bars that are multiples
 * of the loop's length. Audio thread safe. */
uint64_t gen_sync_phase(double beats, double loop_beats, uint64_t loop_frames);

/* "<prompt>, <bpm> bpm" into out (bpm printed with up to 2 decimals, trailing zeros dropped);
 * returns the length, or -1 when it does not fit. */
int gen_sync_prompt_hint(const char *prompt, double bpm, char *out, size_t size);

#endif
