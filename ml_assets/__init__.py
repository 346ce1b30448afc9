"""The pure core of the segmentation: features, selection, training, assignment, profiling and
naming, stats, monitoring/. Frames and arrays in, frames and arrays out."""
