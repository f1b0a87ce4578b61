//===- IABNAttrs.cpp - IABN attributes ------------------------------------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#include "IABN/Dialect/IABN/IR/IABNAttrs.h"
#include "IABN/Dialect/IABN/IR/IABNDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"
#include <cmath>

using namespace mlir;
using namespace mlir::iabn;

#include "IABN/Dialect/IABN/IR/IABNEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "IABN/Dialect/IABN/IR/IABNAttrs.cpp.inc"

void IABNDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "IABN/Dialect/IABN/IR/IABNAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// ActivationAttr
//===----------------------------------------------------------------------===//

/// The name of the parameter of `kind`, or an empty string if it takes none.
static StringRef getParamName(ActivationKind kind) {
  switch (kind) {
  case ActivationKind::LeakyReLU:
    return "negative slope";
  case ActivationKind::ELU:
    return "alpha";
  case ActivationKind::Identity:
  case ActivationKind::ReLU:
  case ActivationKind::ReLU6:
  case ActivationKind::SiLU:
  case ActivationKind::GELU:
  case ActivationKind::Hardswish:
    return "";
  }
  llvm_unreachable("unknown activation kind");
}

LogicalResult
ActivationAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                       ActivationKind kind, std::optional<APFloat> param) {
  StringRef paramName = getParamName(kind);
  if (paramName.empty()) {
    if (param)
      return emitError() << "activation '" << stringifyActivationKind(kind)
                         << "' takes no parameter";
    return success();
  }
  if (!param)
    return emitError() << "activation '" << stringifyActivationKind(kind)
                       << "' requires a parameter (" << paramName << ")";
  if (!param->isFinite())
    return emitError() << "activation '" << stringifyActivationKind(kind)
                       << "' has a non-finite " << paramName;
  return success();
}

bool ActivationAttr::isInvertibleKind(ActivationKind kind) {
  switch (kind) {
  case ActivationKind::Identity:
  case ActivationKind::LeakyReLU:
  case ActivationKind::ELU:
    return true;
  case ActivationKind::ReLU:
  case ActivationKind::ReLU6:
  case ActivationKind::SiLU:
  case ActivationKind::GELU:
  case ActivationKind::Hardswish:
    return false;
  }
  llvm_unreachable("unknown activation kind");
}

bool ActivationAttr::isInvertible() const {
  if (!isInvertibleKind(getKind()))
    return false;
  switch (getKind()) {
  case ActivationKind::LeakyReLU:
  case ActivationKind::ELU:
    return getParamOr0() > 0.0;
  default:
    return true;
  }
}

bool ActivationAttr::isDifferentiableFromOutput() const {
  switch (getKind()) {
  case ActivationKind::Identity:
  case ActivationKind::ReLU:
  case ActivationKind::ReLU6:
    return true;
  case ActivationKind::LeakyReLU:
  case ActivationKind::ELU:
    return getParamOr0() >= 0.0;
  case ActivationKind::SiLU:
  case ActivationKind::GELU:
  case ActivationKind::Hardswish:
    return false;
  }
  llvm_unreachable("unknown activation kind");
}

/// Parses `<kind>` or `<kind, param>`.
Attribute ActivationAttr::parse(AsmParser &parser, Type) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseLess() || parser.parseKeyword(&keyword))
    return {};
  std::optional<ActivationKind> kind = symbolizeActivationKind(keyword);
  if (!kind) {
    InFlightDiagnostic diag = parser.emitError(loc);
    diag << "unknown activation '" << keyword << "'; expected ";
    uint64_t last = getMaxEnumValForActivationKind();
    for (uint64_t value = 0; value <= last; ++value)
      diag << (value == 0 ? "" : value == last ? " or " : ", ")
           << stringifyActivationKind(static_cast<ActivationKind>(value));
    return {};
  }
  std::optional<APFloat> param;
  if (succeeded(parser.parseOptionalComma())) {
    double value;
    if (parser.parseFloat(value))
      return {};
    param = APFloat(value);
  }
  if (parser.parseGreater())
    return {};
  return ActivationAttr::getChecked([&] { return parser.emitError(loc); },
                                    parser.getContext(), *kind, param);
}

void ActivationAttr::print(AsmPrinter &printer) const {
  printer << '<' << stringifyActivationKind(getKind());
  if (std::optional<APFloat> param = getParam()) {
    printer << ", ";
    printer.printFloat(*param);
  }
  printer << '>';
}
