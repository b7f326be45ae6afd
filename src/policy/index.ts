// The Vault ACL policy parser and evaluator.

export { PolicyParseError, parseHcl } from './hcl.js';
export type { DuplicateAttribute, HclDocument, HclItem, HclKey, HclList, HclLiteral, HclObject, HclValue, Position, SourceLocation } from './hcl.js';
export { classifyPattern, parsePolicy, VALID_CAPABILITIES } from './parse.js';
export type { ControlGroup, ControlGroupFactor, ParsedPolicy, PolicyRule, PolicyWarning, RuleConstraints, RuleKind } from './parse.js';
export { evaluate } from './evaluate.js';
export type { Decision, EvaluateOptions, MatchedRule, Operation, PolicyInput } from './evaluate.js';
