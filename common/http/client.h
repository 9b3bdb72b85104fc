#pragma once
// The HTTP client in one include: URLs (url.h), the async kept-alive Connection for the daemons
// (connection.h), and the blocking calls for command-line tools and tests (blocking_client.h).
#include "common/http/blocking_client.h"
#include "common/http/connection.h"
#include "common/http/url.h"
