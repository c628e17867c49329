#include "run/metatypes.h"

#include <QMetaType>

#include "run/training_controller.h"

namespace rl::ui {

void registerMetaTypes() {
  qRegisterMetaType<rl::ui::RunSnapshotPtr>("rl::ui::RunSnapshotPtr");
  qRegisterMetaType<rl::Spec>("rl::Spec");
  qRegisterMetaType<rl::ui::HiddenStatesPtr>("rl::ui::HiddenStatesPtr");
}

}  // namespace rl::ui
