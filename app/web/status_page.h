#pragma once

#include <cstdint>
#include <optional>

#include "domain/mail.h"
#include "domain/pool_status.h"
#include "web/request.h"
#include "web/response.h"

namespace authfcgi::web {

// /auth/status as php-fpm's pm.status_path: plain text, `?json`, or `?openmetrics` (the
// OpenMetrics text format, ending with "# EOF"). `backlog` is nullopt when the outbox could not
// be read (the database is down: the page still answers, without the mail lines' values).
[[nodiscard]] Response status_page(const Request& request, const domain::PoolStatus& status,
                                   const std::optional<domain::MailBacklog>& backlog,
                                   std::int64_t now);

// /auth/ping: "pong".
[[nodiscard]] Response ping_page();

}  // namespace authfcgi::web
