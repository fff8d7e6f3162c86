/* Kickstart files as admins (and their editors) write them: the word splitter and sections. */
#include <stdint.h>
#include <string.h>

#include "kickstart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct kickstart ks;

        if (kickstart_parse((const char *) data, size, "fuzz.cfg", &ks, NULL) == 0) {
                for (size_t i = 0; i < ks.n_commands; i++)
                        if (ks.commands[i].n_words == 0 || !ks.commands[i].words[0].text)
                                __builtin_trap();
                for (size_t i = 0; i < ks.n_sections; i++)
                        if (!ks.sections[i].body || ks.sections[i].words[0].text[0] != '%')
                                __builtin_trap();
                kickstart_release(&ks);
        }
        return 0;
}
