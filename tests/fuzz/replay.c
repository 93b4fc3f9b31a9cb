// SPDX-License-Identifier: GPL-2.0
/*
 * A fuzz target without libFuzzer, for make unit.  Built with the
 * ordinary compiler and its sanitizers (tests/fuzz/fuzz.mk), it feeds
 * the target's LLVMFuzzerTestOneInput the seeds of that target, then
 * inputs made from them (cut short, a few bytes changed) and random
 * ones, from a fixed seed, so that every run tries the same inputs in
 * the same order.  It stops after REPLAY_INPUTS inputs or REPLAY_SECONDS
 * seconds, whichever comes first, and says how many it tried.
 *
 * It is no search (make fuzz is): it keeps each target building, and
 * runs what libFuzzer would run first on every make check, so that a
 * change that breaks a target, or makes a seed crash, fails there.
 *
 *   replay-NAME [DIR]    seeds from DIR (default tests/fuzz/out/seeds/NAME)
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPLAY_INPUTS 4000
#define REPLAY_SECONDS 2
#define REPLAY_MAX 4096		/* bytes in a made-up input */
#define REPLAY_SEEDS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct seed {
	uint8_t *data;
	size_t size;
} seeds[REPLAY_SEEDS];
static unsigned int nseeds;

/* xorshift64: the same inputs on every run and every machine. */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void load_seed(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct seed *s = &seeds[nseeds];
	long n;

	if (!f)
		return;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (s->data = malloc(n)) &&
	    fread(s->data, 1, n, f) == (size_t)n) {
		s->size = n;
		nseeds++;
	}
	fclose(f);
}

/* Every regular file in DIR, in name order, up to REPLAY_SEEDS. */
static void load_seeds(const char *dir)
{
	struct dirent **names;
	char path[4096];
	int i, n;

	n = scandir(dir, &names, NULL, alphasort);
	for (i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.' && nseeds < REPLAY_SEEDS) {
			snprintf(path, sizeof(path), "%s/%s", dir,
				 names[i]->d_name);
			load_seed(path);
		}
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

/*
 * Input number I into BUF: a seed as it is (the first round), a seed
 * cut short or with up to four bytes changed, or random bytes, half of
 * them zero, which is what most fields of a valid input are.
 */
static size_t make_input(unsigned int i, uint8_t *buf)
{
	const struct seed *s;
	size_t n, k;

	if (nseeds && i < nseeds) {
		memcpy(buf, seeds[i].data, seeds[i].size);
		return seeds[i].size;
	}
	if (nseeds && next() % 2) {
		s = &seeds[next() % nseeds];
		memcpy(buf, s->data, s->size);
		n = s->size;
		if (next() % 4 == 0)
			return next() % (n + 1);
		for (k = next() % 4 + 1; k; k--)
			buf[next() % n] = next();
		return n;
	}
	n = next() % REPLAY_MAX;
	for (k = 0; k < n; k++)
		buf[k] = next() % 2 ? 0 : next();
	return n;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "tests/fuzz/out/seeds/" FUZZ_NAME;
	time_t end = time(NULL) + REPLAY_SECONDS;
	size_t max = REPLAY_MAX, size;
	uint8_t *buf, *in;
	unsigned int i;

	load_seeds(dir);
	for (i = 0; i < nseeds; i++)
		if (seeds[i].size > max)
			max = seeds[i].size;
	buf = malloc(max);
	if (!buf)
		return 2;
	for (i = 0; i < REPLAY_INPUTS && (i < nseeds || time(NULL) < end); i++) {
		size = make_input(i, buf);
		/* An exact-size copy, so the sanitizers see a read past it. */
		in = malloc(size ? size : 1);
		if (!in)
			return 2;
		memcpy(in, buf, size);
		LLVMFuzzerTestOneInput(in, size);
		free(in);
	}
	printf("replay-%s: %u inputs (%u seeds from %s), no finding\n",
	       FUZZ_NAME, i, nseeds, dir);
	free(buf);
	return 0;
}
