// The target that builds the shared precompiled header (cmake/precompiled_headers.cmake); it
// compiles nothing of its own.
