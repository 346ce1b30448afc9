"""Trust over time, pure: bootstrap stability and run agreement, anti-flapping, drift, outcome
validation and migration between runs. Frames and arrays in, frames and arrays out."""
