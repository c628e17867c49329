#pragma once
// Small factories and quiet setters for the editor's form fields. Spin boxes do not track the
// keyboard: typing "12" must not apply 1 on the way (that would rebuild the model with one expert
// and throw away the other experts' weights).
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QSpinBox>
#include <QString>

namespace rl::ui {

QSpinBox* makeSpin(const char* objectName, int min, int max, int step);
QDoubleSpinBox* makeDoubleSpin(const char* objectName, double min, double max, double step, int decimals);
QComboBox* makeCombo(const char* objectName);

// Set a value without emitting change signals (showing a spec is not an edit).
void setQuietly(QSpinBox* box, int value);
void setQuietly(QDoubleSpinBox* box, double value);
// Selects the item whose data is value; returns false when there is none.
bool selectQuietly(QComboBox* box, int value);

// The wheel scrolls the panel instead of editing a field the pointer happens to pass over (every
// edit rebuilds the run); a field takes wheel steps once it has focus (clicked or tabbed to).
void scrollPanelOnWheel(QWidget* field);

// Marks a field as holding an invalid value (a reddish background) or clears the mark.
void markInvalid(QWidget* field, bool invalid);

}  // namespace rl::ui
