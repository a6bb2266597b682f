package lint

import "go/ast"

// funcLinesMax is the function-length ratchet (STYLE rule 5), counted from
// the func line to the closing brace.
const funcLinesMax = 70

// checkFuncLength reports functions and methods longer than funcLinesMax
// lines, except flat dispatch switches. A //lint:ignore FuncLength
// directive may sit anywhere in the doc comment, not only on the line
// above.
func (l *linter) checkFuncLength(p *pkg) {
	for _, f := range p.files {
		if f.test {
			continue
		}
		for _, decl := range f.syntax.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil || isFlatSwitch(fd.Body) {
				continue
			}
			start, end := l.line(fd.Pos()), l.line(fd.End())
			if lines := end - start + 1; lines > funcLinesMax {
				ignoreFrom := start - 1
				if fd.Doc != nil {
					ignoreFrom = l.line(fd.Doc.Pos())
				}
				l.reportFrom(f, start, ignoreFrom, ruleFuncLength,
					"%s is %d lines (max %d): split it, keeping control flow in the parent and helpers pure",
					fd.Name.Name, lines, funcLinesMax)
			}
		}
	}
}

// isFlatSwitch reports whether body is a single switch (or type switch)
// whose cases hold no nested blocks: a dispatch table written as code.
func isFlatSwitch(body *ast.BlockStmt) bool {
	if len(body.List) != 1 {
		return false
	}
	var clauses *ast.BlockStmt
	switch s := body.List[0].(type) {
	case *ast.SwitchStmt:
		clauses = s.Body
	case *ast.TypeSwitchStmt:
		clauses = s.Body
	default:
		return false
	}
	for _, clause := range clauses.List {
		for _, stmt := range clause.(*ast.CaseClause).Body {
			if hasBlock(stmt) {
				return false
			}
		}
	}
	return true
}

// hasBlock reports whether n contains a block: an if, a loop, a nested
// switch or select, or a function literal.
func hasBlock(n ast.Node) bool {
	found := false
	ast.Inspect(n, func(n ast.Node) bool {
		if _, ok := n.(*ast.BlockStmt); ok {
			found = true
		}
		return !found
	})
	return found
}
