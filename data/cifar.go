package data

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// openCIFAR reads the CIFAR-10 (data_batch_1..5.bin, test_batch.bin; 1 label byte +
// 3072 pixel bytes per record) or CIFAR-100 (train.bin, test.bin; coarse and fine label
// bytes + 3072; the fine label is used) binary files in dir (or dir/cifar-10-batches-bin,
// dir/cifar-100-binary).
func openCIFAR(name, split, dir string) (Dataset, error) {
	var files []string
	labelBytes, classes := 1, 10
	sub := "cifar-10-batches-bin"
	if name == "cifar100" {
		labelBytes, classes, sub = 2, 100, "cifar-100-binary"
		if split == "train" {
			files = []string{"train.bin"}
		} else {
			files = []string{"test.bin"}
		}
	} else if split == "train" {
		files = []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}
	} else {
		files = []string{"test_batch.bin"}
	}
	if _, err := os.Stat(filepath.Join(dir, files[0])); err != nil {
		if _, err2 := os.Stat(filepath.Join(dir, sub, files[0])); err2 == nil {
			dir = filepath.Join(dir, sub)
		}
	}
	ds := &bytesDataset{c: 3, h: 32, w: 32, classes: classes}
	for _, f := range files {
		p := filepath.Join(dir, f)
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", name, err)
		}
		if err := parseCIFAR(p, b, labelBytes, classes, ds); err != nil {
			return nil, err
		}
	}
	metaFile := "batches.meta.txt"
	if name == "cifar100" {
		metaFile = "fine_label_names.txt"
	}
	if b, err := os.ReadFile(filepath.Join(dir, metaFile)); err == nil {
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				ds.classNames = append(ds.classNames, l)
			}
		}
	}
	return ds, nil
}

// parseCIFAR appends the records of one CIFAR binary file to ds.
func parseCIFAR(path string, b []byte, labelBytes, classes int, ds *bytesDataset) error {
	rec := labelBytes + 3072
	if len(b) == 0 || len(b)%rec != 0 {
		return fmt.Errorf("%s: %d bytes is not a whole number of %d-byte CIFAR records (truncated or wrong file)", path, len(b), rec)
	}
	for r := 0; r < len(b)/rec; r++ {
		row := b[r*rec : (r+1)*rec]
		l := row[labelBytes-1]
		if int(l) >= classes {
			return fmt.Errorf("%s: record %d has label %d, out of range [0,%d)", path, r, l, classes)
		}
		ds.labels = append(ds.labels, l)
		ds.pix = append(ds.pix, row[labelBytes:]...)
	}
	return nil
}
