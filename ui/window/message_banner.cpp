#include "window/message_banner.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QStyle>

namespace rl::ui {

MessageBanner::MessageBanner(QWidget* parent) : QFrame(parent) {
  setObjectName("messageBanner");
  setFrameShape(QFrame::StyledPanel);
  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(10, 6, 6, 6);
  auto* icon = new QLabel(this);
  icon->setPixmap(style()->standardIcon(QStyle::SP_MessageBoxWarning).pixmap(20, 20));
  layout->addWidget(icon, 0, Qt::AlignTop);
  label_ = new QLabel(this);
  label_->setWordWrap(true);
  label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  layout->addWidget(label_, 1);
  auto* close = new QPushButton("Dismiss", this);
  close->setObjectName("dismissBanner");
  layout->addWidget(close, 0, Qt::AlignTop);
  connect(close, &QPushButton::clicked, this, [this] {
    text_.clear();
    hide();
    emit dismissed();
  });
  hide();
}

void MessageBanner::showMessage(Kind kind, const QString& title, const QString& detail) {
  text_ = detail.isEmpty() ? title : QString("%1: %2").arg(title, detail);
  const QString background = kind == Kind::Error ? "#fde2e1" : "#fff4d6";
  const QString border = kind == Kind::Error ? "#d9534f" : "#e0a800";
  setStyleSheet(QString("#messageBanner { background: %1; border: 1px solid %2; border-radius: 3px; }")
                    .arg(background, border));
  // Multi-line details (e.g. a list of spec problems) keep their line breaks in rich text.
  label_->setText(QString("<b>%1</b> %2").arg(title.toHtmlEscaped(),
                                              detail.toHtmlEscaped().replace('\n', "<br>")));
  show();
}

QString MessageBanner::text() const { return text_; }

}  // namespace rl::ui
