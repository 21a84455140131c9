#pragma once
// Values that travel and saga data are Boost.JSON values: workers may be written in any language.
#include <boost/json.hpp>

namespace sagaflow {
namespace json = boost::json;
}  // namespace sagaflow
