/*
 * SpanDSP's Bell MF (R1) generator and receiver for the MF R1 interop test
 * (test/interop/dsp/spandsp-mf.test.ts).
 *   spandsp-mf rx            reads 16-bit little-endian PCM at 8 kHz on stdin, prints the signals
 *                            bell_mf_rx reports (one string, SpanDSP's characters) on stdout
 *   spandsp-mf tx <signals>  writes bell_mf_tx's audio for <signals> (SpanDSP's characters)
 */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <stdbool.h>
#include <spandsp.h>

static int rx(void)
{
    bell_mf_rx_state_t *s = bell_mf_rx_init(NULL, NULL, NULL);
    int16_t buf[160];
    size_t n;
    char digits[256];
    size_t got = 0;
    while ((n = fread(buf, sizeof(int16_t), 160, stdin)) > 0) {
        bell_mf_rx(s, buf, (int) n);
        got += bell_mf_rx_get(s, digits + got, (int) (sizeof(digits) - 1 - got));
    }
    /* A little silence so the last signal ends. */
    memset(buf, 0, sizeof(buf));
    for (int i = 0; i < 10; i++) {
        bell_mf_rx(s, buf, 160);
        got += bell_mf_rx_get(s, digits + got, (int) (sizeof(digits) - 1 - got));
    }
    digits[got] = '\0';
    printf("%s\n", digits);
    bell_mf_rx_free(s);
    return 0;
}

static int tx(const char *signals)
{
    bell_mf_tx_state_t *s = bell_mf_tx_init(NULL);
    int16_t buf[160];
    int n;
    bell_mf_tx_put(s, signals, -1);
    while ((n = bell_mf_tx(s, buf, 160)) > 0)
        fwrite(buf, sizeof(int16_t), (size_t) n, stdout);
    bell_mf_tx_free(s);
    return 0;
}

int main(int argc, char *argv[])
{
    if (argc == 2 && strcmp(argv[1], "rx") == 0)
        return rx();
    if (argc == 3 && strcmp(argv[1], "tx") == 0)
        return tx(argv[2]);
    fprintf(stderr, "usage: spandsp-mf rx | tx <signals>\n");
    return 2;
}
