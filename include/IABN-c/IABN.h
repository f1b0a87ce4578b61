/*===- IABN.h - C API of the IABN compiler -----------------------*- C -*-===*\
|*                                                                            *|
|* Part of the IABN project.                                                  *|
|*                                                                            *|
|* Runs IABN and upstream MLIR passes in-process on textual IR; used by the   *|
|* Python package (python/iabn/compiler.py) through ctypes.                   *|
\*===----------------------------------------------------------------------===*/

#ifndef IABN_C_IABN_H
#define IABN_C_IABN_H

#ifdef __cplusplus
extern "C" {
#endif

/* Parses `ir`, runs the textual pass pipeline `pipeline` (e.g.
 * "builtin.module(iabn-pipeline)") and returns 0 on success. `*out_ir`
 * receives the resulting IR (or NULL on failure) and `*out_diagnostics` one
 * JSON object per line: {"severity", "location", "message"}. Free both
 * with iabn_free. */
int iabn_run_pipeline(const char *ir, const char *pipeline, char **out_ir,
                      char **out_diagnostics);

void iabn_free(char *p);

#ifdef __cplusplus
}
#endif

#endif /* IABN_C_IABN_H */
