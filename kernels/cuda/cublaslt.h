/* cuBLASLt for the backend's large matrix products (the cross-attention fold's Ã Wo, the float32
 * GEMM of T5's long prompts and the LSTM's input projection), loaded at run time.
 *
 * The library is opened with dlopen, so a binary built with CUDA still starts where cuBLASLt is
 * missing (a CPU-only machine, a driver without the toolkit) and the backend then keeps its own
 * kernels. Where it is looked for: DGXM_CUDA_CUBLASLT names a file, or "0" turns it off; else
 * the soname of the toolkit the build used (libcublasLt.so.<major>), then that toolkit's library
 * folder.
 *
 * Ownership: the backend owns the handle (dgxm_cublaslt_open at start-up, dgxm_cublaslt_close
 * when it is destroyed), with the device workspace it allocates. Threads: the backend's engine
 * thread makes every call. CUDA C++ header, for the backend's .cu files. */
#ifndef DGXM_CUDA_CUBLASLT_H
#define DGXM_CUDA_CUBLASLT_H

#include "dgxm/status.h"

#include <cuda_runtime.h>
#include <library_types.h>

#include <stdbool.h>
#include <stddef.h>

typedef struct dgxm_cublaslt dgxm_cublaslt;

/* The library, a handle and a workspace on the current device; NULL when it is off, missing or
 * unusable, with the reason in why (never an error: the caller's own kernels take over). */
dgxm_cublaslt *dgxm_cublaslt_open(char *why, size_t why_size);

/* Frees the handle and the workspace, then closes the library; NULL is fine. */
void dgxm_cublaslt_close(dgxm_cublaslt *lt);

/* "cuBLASLt 13.1.0 (libcublasLt.so.13)": the version that answered and the file it came from.
 * Owned by lt. */
const char *dgxm_cublaslt_describe(const dgxm_cublaslt *lt);

/* One matrix product in column-major terms, queued on s:
 *   D [m x n, leading dimension ldd, float32] = op(A) op(B) + beta D
 * with op(A) m x k (A stored k x m, lda, when ta) and op(B) k x n (B stored n x k, ldb, when tb).
 * A and B have the type ab (CUDA_R_32F, CUDA_R_16BF or CUDA_R_16F); the sums are float32 (no
 * TF32). *ran is false, with DGXM_OK, when cuBLASLt offers no algorithm for this shape: the
 * caller computes it itself. A failed call is DGXM_ERR_BACKEND naming op. */
dgxm_status dgxm_cublaslt_gemm(dgxm_cublaslt *lt, cudaStream_t s, cudaDataType_t ab, bool ta,
                               const void *a, long long lda, bool tb, const void *b, long long ldb,
                               float *d, long long ldd, int m, int n, int k, float beta, bool *ran,
                               const char *op, dgxm_error *err);

#endif
