/*
 * Test harness around SpanDSP (libspandsp-dev), the reference for tonewall's DSP interop tests.
 * Built by test/lib/dsp-peers.ts into a cache under the temp directory.
 *
 *   spandsp-dtmf g711
 *       writes 65536 µ-law codes, 65536 A-law codes (inputs -32768..32767 in order), then
 *       256 + 256 decoded values as int16 little-endian: SpanDSP's linear_to_ulaw/alaw and
 *       ulaw/alaw_to_linear from <spandsp/g711.h>.
 *   spandsp-dtmf detect [twist_db reverse_twist_db threshold_dbm0]
 *       reads 8 kHz s16le from stdin; prints one line per digit: "<digit> <start> <end>" where
 *       start/end are the sample positions at which SpanDSP's realtime callback reported them
 *       (0 = parameter left at SpanDSP's default).
 *   spandsp-dtmf bench <seconds>
 *       reads s16le from stdin and runs dtmf_rx over it in 160-sample blocks repeatedly for about
 *       <seconds> of CPU time; prints "samples_per_second <n>".
 */
#include <spandsp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCK 160

typedef struct {
    long position;
    int current;
    long start;
} report_t;

static void on_tone(void *user_data, int code, int level, int delay)
{
    report_t *r = (report_t *) user_data;
    (void) level;
    (void) delay;
    if (code) {
        r->current = code;
        r->start = r->position;
    } else if (r->current) {
        printf("%c %ld %ld\n", r->current, r->start, r->position);
        r->current = 0;
    }
}

static void on_digits(void *user_data, const char *digits, int len)
{
    (void) user_data;
    (void) digits;
    (void) len;
}

static int16_t *read_all(long *count)
{
    size_t cap = 1 << 20, n = 0;
    int16_t *buf = malloc(cap * sizeof(int16_t));
    size_t got;
    while (buf && (got = fread(buf + n, sizeof(int16_t), cap - n, stdin)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap * sizeof(int16_t));
        }
    }
    *count = (long) n;
    return buf;
}

static int do_g711(void)
{
    static uint8_t u[65536], a[65536];
    int16_t du[256], da[256];
    for (int i = 0; i < 65536; i++) {
        u[i] = linear_to_ulaw(i - 32768);
        a[i] = linear_to_alaw(i - 32768);
    }
    for (int i = 0; i < 256; i++) {
        du[i] = ulaw_to_linear((uint8_t) i);
        da[i] = alaw_to_linear((uint8_t) i);
    }
    fwrite(u, 1, sizeof u, stdout);
    fwrite(a, 1, sizeof a, stdout);
    fwrite(du, sizeof(int16_t), 256, stdout);
    fwrite(da, sizeof(int16_t), 256, stdout);
    return 0;
}

static int do_detect(int argc, char **argv)
{
    long n;
    int16_t *samples = read_all(&n);
    report_t r = { 0, 0, 0 };
    dtmf_rx_state_t *rx = dtmf_rx_init(NULL, on_digits, NULL);
    if (!samples || !rx)
        return 2;
    int twist = argc > 2 ? atoi(argv[2]) : 0;
    int reverse = argc > 3 ? atoi(argv[3]) : 0;
    int threshold = argc > 4 ? atoi(argv[4]) : 0;
    dtmf_rx_parms(rx, -1, twist > 0 ? twist : -1, reverse > 0 ? reverse : -1, threshold < 0 ? threshold : -99);
    dtmf_rx_set_realtime_callback(rx, on_tone, &r);
    for (long i = 0; i < n; i += BLOCK) {
        int len = (int) (n - i < BLOCK ? n - i : BLOCK);
        dtmf_rx(rx, samples + i, len);
        r.position = i + len;
    }
    on_tone(&r, 0, 0, 0);
    dtmf_rx_free(rx);
    free(samples);
    return 0;
}

static int do_bench(int argc, char **argv)
{
    long n;
    int16_t *samples = read_all(&n);
    double seconds = argc > 2 ? atof(argv[2]) : 2.0;
    dtmf_rx_state_t *rx = dtmf_rx_init(NULL, on_digits, NULL);
    if (!samples || !rx || n < BLOCK)
        return 2;
    long done = 0;
    clock_t t0 = clock();
    double elapsed = 0;
    while (elapsed < seconds) {
        for (long i = 0; i + BLOCK <= n; i += BLOCK)
            dtmf_rx(rx, samples + i, BLOCK);
        done += n - n % BLOCK;
        elapsed = (double) (clock() - t0) / CLOCKS_PER_SEC;
    }
    printf("samples_per_second %.0f\n", done / elapsed);
    dtmf_rx_free(rx);
    free(samples);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "g711") == 0)
        return do_g711();
    if (argc >= 2 && strcmp(argv[1], "detect") == 0)
        return do_detect(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "bench") == 0)
        return do_bench(argc, argv);
    fprintf(stderr, "usage: spandsp-dtmf g711 | detect [twist reverse_twist threshold_dbm0] | bench <seconds>\n");
    return 2;
}
