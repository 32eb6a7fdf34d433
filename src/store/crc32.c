/* crc32.c — CRC-32 (IEEE 802.3 polynomial, reflected, as zlib's crc32) for
 * the journal's self-checking records. */
#include "llm4hep/store.h"

static uint32_t table[256];
static int table_ready;

/* Fill the byte-at-a-time table once. Can't fail. */
static void make_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    table_ready = 1;
}

/* CRC of n more bytes after crc (0 to start). Can't fail. The table is
 * built on first use; racing threads would write identical values. */
uint32_t l4h_crc32(uint32_t crc, const void *data, size_t n)
{
    if (!table_ready)
        make_table();
    const unsigned char *p = data;
    crc = ~crc;
    while (n--)
        crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}
