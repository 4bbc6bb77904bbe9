/* The capped growth of arrays (buf_grow_array). */
#include <stdint.h>
#include <stdlib.h>

#include "buf.h"
#include "t.h"

int main(void)
{
	int *v = NULL, *nv;
	size_t cap = 0;
	size_t seen[8], n = 0;

	/* first 3, then doubling, never past 20 */
	while (n < 8 && (nv = buf_grow_array(v, &cap, sizeof *v, 3, 20)) != NULL) {
		v = nv;
		v[cap - 1] = (int)cap;     /* the whole new size is usable */
		seen[n++] = cap;
	}
	T(n == 4 && seen[0] == 3 && seen[1] == 6 && seen[2] == 12 && seen[3] == 20,
	  "3, 6, 12, then the cap 20 (%zu steps, last %zu)", n, n ? seen[n - 1] : 0);
	T(cap == 20 && v && v[19] == 20, "at the cap: the array and its size kept");
	T(buf_grow_array(v, &cap, sizeof *v, 3, 20) == NULL && cap == 20, "past the cap: NULL, unchanged");
	free(v);

	cap = 0;
	T(buf_grow_array(NULL, &cap, SIZE_MAX / 2, 4, 100) == NULL && cap == 0,
	  "a size that would overflow: NULL, nothing allocated");
	cap = 0;
	v = buf_grow_array(NULL, &cap, sizeof *v, 50, 10);
	T(v && cap == 10, "a first size over the cap is cut to it (%zu)", cap);
	free(v);
	T_DONE();
}
