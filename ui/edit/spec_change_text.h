#pragma once
// The readable text of an edit, from what differs between two specs: "Set experts to 12",
// "Set router to Switch top-1, k to 1". Undo menus and the undo view show it.
#include <QString>

#include "spec/spec.h"

namespace rl::ui {

QString describeSpecChange(const Spec& before, const Spec& after);

// True when the two specs are the same field by field.
bool sameSpec(const Spec& a, const Spec& b);

}  // namespace rl::ui
