#include "remove_tree.h"

#include <ftw.h>
#include <unistd.h>

void remove_tree(const std::string& dir) {
  nftw(dir.c_str(), [](const char* path, const struct stat*, int type, FTW*) {
    return type == FTW_DP ? rmdir(path) : unlink(path), 0;
  }, 32, FTW_DEPTH | FTW_PHYS);
}
