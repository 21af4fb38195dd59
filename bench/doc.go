// Package bench measures frpt's speed on the rows the project is judged by (training
// steps of the zoo models, convolution, SGEMM) and prints them beside the same rows
// measured with PyTorch on the same machine (torch_bench.py in this folder, run with
// Debian's /usr/bin/python3).
//
// Timings are medians over repeated runs after a warm-up; nothing here asserts on time.
package bench
