/*===- clusopt_runtime.h - libclusopt_runtime's C interface --------*- C
-*-===*\
|*                                                                            *|
|* Runs the runtime's models (PaCa-ViT, ClusTR, CAST-ViT, ViT-dense) from     *|
|* other languages: open a model from its safetensors weights, run it on      *|
|* preprocessed images, and decode and preprocess an image file as           *|
|* clusopt-run does. The same code as clusopt-run's (runtime/models/          *|
|* Registry.h), so the logits are bitwise the same for the same inputs and    *|
|* thread count.                                                              *|
|*                                                                            *|
|* Nothing here aborts or throws. Every function returns CLUSOPT_OK or an     *|
|* error code, and clusopt_last_error() gives the message of the calling      *|
|* thread's last error (naming the file, argument or tensor at fault).        *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef CLUSOPT_RUNTIME_CAPI_CLUSOPT_RUNTIME_H
#define CLUSOPT_RUNTIME_CAPI_CLUSOPT_RUNTIME_H

#include <stdint.h>

#if defined(__GNUC__)
#define CLUSOPT_RUNTIME_EXPORT __attribute__((visibility("default")))
#else
#define CLUSOPT_RUNTIME_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes. */
enum {
  CLUSOPT_OK = 0,
  /* A bad argument: null pointer, unknown model name, shape or value out
     of range. */
  CLUSOPT_ERROR_ARGUMENT = 1,
  /* A file that is missing or malformed: weights (or a tensor in them),
     kernel library, image. */
  CLUSOPT_ERROR_FILE = 2,
  /* Running failed: out of memory, non-finite logits. */
  CLUSOPT_ERROR_RUN = 3,
};

/* Interpolations for clusopt_image_load (PIL's, antialiased). */
enum { CLUSOPT_BICUBIC = 0, CLUSOPT_BILINEAR = 1 };

typedef struct clusopt_model clusopt_model;

typedef struct clusopt_model_options {
  /* The kernel library (.so with its .json manifest); NULL or "": the
     family's default ($CLUSOPT_PACA_KERNELS, ... else the build's). */
  const char *kernels_path;
  /* Nonzero: tensors the model does not use are ignored, not an error. */
  int allow_unused_weights;
  /* Threads for clusopt_model_run (set on the calling thread before each
     run); 0: OMP_NUM_THREADS, else every core. */
  int threads;
} clusopt_model_options;

/* The message of the calling thread's last error ("" if none). Valid until
   the thread's next call into this library. */
CLUSOPT_RUNTIME_EXPORT const char *clusopt_last_error(void);

/* Opens model `name` (paca_tiny, ..., clustr_b1, ..., cast_vit, vit_dense)
   with the weights at `weights_path`; `options` may be NULL. On success
   *model is set; close it with clusopt_model_close. */
CLUSOPT_RUNTIME_EXPORT int
clusopt_model_open(const char *name, const char *weights_path,
                   const clusopt_model_options *options, clusopt_model **model);

/* Logits per image (1000 for ImageNet models). */
CLUSOPT_RUNTIME_EXPORT int64_t
clusopt_model_num_classes(const clusopt_model *model);
/* Image sides must be positive multiples of this (CAST/ViT: exactly the
   weights' resolution, clusopt_model_default_resolution). */
CLUSOPT_RUNTIME_EXPORT int64_t
clusopt_model_resolution_multiple(const clusopt_model *model);
CLUSOPT_RUNTIME_EXPORT int64_t
clusopt_model_default_resolution(const clusopt_model *model);

/* Runs `images` (float32 [batch, 3, height, width], C order, preprocessed)
   and writes float32 [batch, num_classes] to `logits`. `images` is only
   read. Non-finite images or logits are an error. Run a model from one
   thread at a time. */
CLUSOPT_RUNTIME_EXPORT int clusopt_model_run(clusopt_model *model,
                                             const float *images, int64_t batch,
                                             int64_t height, int64_t width,
                                             float *logits);

/* Closes a model (NULL is ignored). */
CLUSOPT_RUNTIME_EXPORT void clusopt_model_close(clusopt_model *model);

/* Decodes the PNG or JPEG at `path` and preprocesses it as clusopt-run
   does (timm's evaluation: resize to cover floor(side / crop_pct) with
   `interpolation`, centre crop to height x width, ImageNet mean and std),
   writing float32 [3, height, width] to `out`. */
CLUSOPT_RUNTIME_EXPORT int clusopt_image_load(const char *path, int64_t height,
                                              int64_t width, double crop_pct,
                                              int interpolation, float *out);

#ifdef __cplusplus
}
#endif

#endif /* CLUSOPT_RUNTIME_CAPI_CLUSOPT_RUNTIME_H */
