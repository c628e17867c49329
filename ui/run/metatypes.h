#pragma once
// Registers the value types that cross the controller's thread boundary in queued signals.
namespace rl::ui {
void registerMetaTypes();
}
