// Umbrella header: the whole public API.
#pragma once

#include "promptetheus/client.hpp"
#include "promptetheus/context.hpp"
#include "promptetheus/export.hpp"
#include "promptetheus/options.hpp"
#include "promptetheus/session.hpp"
#include "promptetheus/span.hpp"
#include "promptetheus/trace_context.hpp"
#include "promptetheus/status.hpp"
#include "promptetheus/tool_call.hpp"
#include "promptetheus/transport.hpp"
#include "promptetheus/wrappers.hpp"
