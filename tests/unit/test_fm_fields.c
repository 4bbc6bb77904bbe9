/* test_fm_fields: look-ups by name and label through the indexes. */
#include <stdlib.h>

#include "fm_fields.h"
#include "t.h"

static const char doc[] =
	"{\"fields\":["
	"{\"id\":1,\"name\":\"zeta\",\"label\":\"Industry\",\"type\":\"text\"},"
	"{\"id\":2,\"name\":\"alpha\",\"label\":\"industry\",\"type\":\"text\"},"
	"{\"id\":3,\"name\":\"zeta\",\"label\":\"Second zeta\",\"type\":\"number\"},"
	"{\"id\":4,\"name\":\"emails\",\"label\":\"Emails\",\"type\":\"group_field\"},"
	"{\"id\":5,\"name\":\"mid\",\"label\":\"\",\"type\":\"text\"},"
	"{\"id\":6,\"name\":\"mail\",\"label\":\"EMAILS\",\"type\":\"text\"},"
	"{\"id\":7,\"name\":\"b\",\"label\":\"B\",\"type\":\"text\"},"
	"{\"id\":8,\"name\":\"a_b\",\"label\":\"a\",\"type\":\"text\"}"
	"]}";

int main(void)
{
	struct fm_fields *f = NULL;
	const struct fmf_field *x;

	T(fm_fields_parse(doc, sizeof doc - 1, 0, &f) == FMF_OK && f && f->n == 8, "parsed");
	if (!f)
		T_DONE();
	x = fm_fields_by_name(f, "zeta");
	T(x == &f->v[0], "a repeated name: the first one");
	T(fm_fields_by_name(f, "alpha") == &f->v[1] && fm_fields_by_name(f, "a_b") == &f->v[7] &&
	  fm_fields_by_name(f, "b") == &f->v[6] && fm_fields_by_name(f, "mid") == &f->v[4],
	  "each name found");
	T(!fm_fields_by_name(f, "Zeta") && !fm_fields_by_name(f, "") && !fm_fields_by_name(f, "zz") &&
	  !fm_fields_by_name(f, "a"), "names are exact");
	T(fm_fields_by_label(f, "INDUSTRY") == &f->v[0], "labels ignore case; the first one wins");
	T(fm_fields_by_label(f, "emails") == &f->v[5], "a group field is never matched by label");
	T(fm_fields_by_label(f, "") == NULL, "an empty label matches nothing");
	T(fm_fields_by_label(f, "second ZETA") == &f->v[2] && fm_fields_by_label(f, "b") == &f->v[6] &&
	  fm_fields_by_label(f, "A") == &f->v[7], "each label found");
	T(!fm_fields_by_label(f, "Industr") && !fm_fields_by_label(f, "Industryx"), "whole labels only");
	T(!fm_fields_by_name(NULL, "zeta") && !fm_fields_by_label(NULL, "B"), "no list, nothing");
	fm_fields_free(f);
	T_DONE();
}
