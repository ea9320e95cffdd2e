/*
 * Replay fuzz inputs without libFuzzer: every file in the directories (or
 * files) given is passed to LLVMFuzzerTestOneInput once.  Lets gcc builds
 * and the sanitizer job run each target over its seed corpus.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t len;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	buf = malloc(1024 * 1024);
	if (buf == NULL) {
		fclose(f);
		return -1;
	}
	len = fread(buf, 1, 1024 * 1024, f);
	fclose(f);
	(void)LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	size_t n = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *de;

		if (stat(argv[i], &st) < 0) {
			perror(argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (run_file(argv[i]) < 0)
				return 1;
			n++;
			continue;
		}
		if ((d = opendir(argv[i])) == NULL)
			return 1;
		while ((de = readdir(d)) != NULL) {
			char path[4096];

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
			if (run_file(path) < 0) {
				closedir(d);
				return 1;
			}
			n++;
		}
		closedir(d);
	}
	printf("1..1\nok 1 - replayed %zu inputs\n", n);
	return n > 0 ? 0 : 1;
}
