/*
 * SpanDSP ADSI harness for the caller ID interop tests (test/interop/pstn/caller-id-spandsp.test.ts).
 *
 *   spandsp-adsi tx class|clip sdmf|mdmf DATETIME NUMBER NAME   > audio.s16
 *   spandsp-adsi tx dtmf c|hash - NUMBER -                       > audio.s16
 *   spandsp-adsi rx class|clip|dtmf                              < audio.s16
 *
 * tx builds the message with adsi_add_field and sends it with adsi_tx (CLASS: Bell 202; CLIP: V.23;
 * CLIP_DTMF: DTMF), as signed 16-bit little-endian 8 kHz samples between 100 ms and 200 ms of
 * silence. DATETIME is MMDDHHMM; "-" leaves a field out; a NUMBER of "P" or "O" sends the reason
 * for absence (private / out of area) instead of a number.
 * rx feeds stdin to adsi_rx and prints every message it delivers as one line of hex (FSK: type,
 * length and body without the checksum SpanDSP has verified; DTMF: the digits as ASCII hex).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spandsp.h>

static void put_msg(void *user_data, const uint8_t *msg, int len)
{
    (void) user_data;
    for (int i = 0; i < len; i++)
        printf("%02x", msg[i]);
    printf("\n");
    fflush(stdout);
}

static int standard_of(const char *name)
{
    if (strcmp(name, "class") == 0)
        return ADSI_STANDARD_CLASS;
    if (strcmp(name, "clip") == 0)
        return ADSI_STANDARD_CLIP;
    if (strcmp(name, "dtmf") == 0)
        return ADSI_STANDARD_CLIP_DTMF;
    fprintf(stderr, "unknown standard %s (class, clip, dtmf)\n", name);
    exit(2);
}

static void write_silence(int samples)
{
    int16_t zero[80] = {0};
    while (samples > 0) {
        int n = samples > 80 ? 80 : samples;
        fwrite(zero, sizeof(int16_t), (size_t) n, stdout);
        samples -= n;
    }
}

static int build_fsk(adsi_tx_state_t *tx, uint8_t *msg, const char *format, const char *datetime, const char *number, const char *name)
{
    int len;
    int absent = strcmp(number, "P") == 0 || strcmp(number, "O") == 0;
    if (strcmp(format, "sdmf") == 0) {
        len = adsi_add_field(tx, msg, -1, CLASS_SDMF_CALLERID, NULL, 0);
        len = adsi_add_field(tx, msg, len, 0, (const uint8_t *) datetime, (int) strlen(datetime));
        len = adsi_add_field(tx, msg, len, 0, (const uint8_t *) number, (int) strlen(number));
        return len;
    }
    len = adsi_add_field(tx, msg, -1, CLASS_MDMF_CALLERID, NULL, 0);
    if (strcmp(datetime, "-") != 0)
        len = adsi_add_field(tx, msg, len, MCLASS_DATETIME, (const uint8_t *) datetime, (int) strlen(datetime));
    if (strcmp(number, "-") != 0)
        len = adsi_add_field(tx, msg, len, absent ? MCLASS_ABSENCE1 : MCLASS_CALLER_NUMBER, (const uint8_t *) number, (int) strlen(number));
    if (strcmp(name, "-") != 0)
        len = adsi_add_field(tx, msg, len, MCLASS_CALLER_NAME, (const uint8_t *) name, (int) strlen(name));
    return len;
}

static int build_dtmf(adsi_tx_state_t *tx, uint8_t *msg, const char *format, const char *number)
{
    int c = strcmp(format, "c") == 0;
    int len = adsi_add_field(tx, msg, -1, c ? CLIP_DTMF_C_TERMINATED : CLIP_DTMF_HASH_TERMINATED, NULL, 0);
    if (strcmp(number, "P") == 0)
        return adsi_add_field(tx, msg, len, c ? CLIP_DTMF_C_ABSENCE : CLIP_DTMF_HASH_ABSENCE, (const uint8_t *) (c ? "00" : "1"), c ? 2 : 1);
    if (strcmp(number, "O") == 0)
        return adsi_add_field(tx, msg, len, c ? CLIP_DTMF_C_ABSENCE : CLIP_DTMF_HASH_ABSENCE, (const uint8_t *) (c ? "10" : "2"), c ? 2 : 1);
    return adsi_add_field(tx, msg, len, c ? CLIP_DTMF_C_CALLER_NUMBER : CLIP_DTMF_HASH_CALLER_NUMBER, (const uint8_t *) number, (int) strlen(number));
}

static int run_tx(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: tx STANDARD FORMAT DATETIME NUMBER NAME\n");
        return 2;
    }
    int standard = standard_of(argv[2]);
    adsi_tx_state_t *tx = adsi_tx_init(NULL, standard);
    uint8_t msg[256];
    int len = standard == ADSI_STANDARD_CLIP_DTMF ? build_dtmf(tx, msg, argv[3], argv[5]) : build_fsk(tx, msg, argv[3], argv[4], argv[5], argv[6]);
    if (adsi_tx_put_message(tx, msg, len) <= 0) {
        fprintf(stderr, "adsi_tx_put_message refused a %d-byte message\n", len);
        return 1;
    }
    write_silence(800);
    int16_t amp[160];
    int n;
    while ((n = adsi_tx(tx, amp, 160)) > 0)
        fwrite(amp, sizeof(int16_t), (size_t) n, stdout);
    write_silence(1600);
    adsi_tx_free(tx);
    return 0;
}

static int run_rx(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: rx STANDARD\n");
        return 2;
    }
    adsi_rx_state_t *rx = adsi_rx_init(NULL, standard_of(argv[2]), put_msg, NULL);
    int16_t amp[160];
    size_t n;
    while ((n = fread(amp, sizeof(int16_t), 160, stdin)) > 0)
        adsi_rx(rx, amp, (int) n);
    adsi_rx_free(rx);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "tx") == 0)
        return run_tx(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "rx") == 0)
        return run_rx(argc, argv);
    fprintf(stderr, "usage: spandsp-adsi tx|rx ...\n");
    return 2;
}
