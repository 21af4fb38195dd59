package data

import "fmt"

// Pick returns the samples idx of ds, in that order, as a dataset (an explain run's
// chosen samples). Every index must lie in [0, ds.Len()).
func Pick(ds Dataset, idx []int) (Dataset, error) {
	for _, i := range idx {
		if i < 0 || i >= ds.Len() {
			return nil, fmt.Errorf("index %d is out of range: the dataset has %d samples (0 … %d)", i, ds.Len(), ds.Len()-1)
		}
	}
	return indexed{ds, append([]int(nil), idx...)}, nil
}

// Labels returns the label of every sample, without decoding images where the dataset
// allows it.
func Labels(ds Dataset) []int {
	label := labelFunc(ds)
	out := make([]int, ds.Len())
	for i := range out {
		out[i] = label(i)
	}
	return out
}
