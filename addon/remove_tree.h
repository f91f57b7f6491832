// rm -rf of a directory the monitor owns (a container's directory, an
// anonymous volume), never following symlinks.
#pragma once
#include <string>

void remove_tree(const std::string& dir);
