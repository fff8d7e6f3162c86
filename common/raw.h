#pragma once
/* Raw images: the file is the disk. Holes in the file (SEEK_DATA) read as zeros. */

#include "image.h"

int raw_open(struct input *in, struct image **ret, struct err *err);
