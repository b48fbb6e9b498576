import { subgraphCodegen } from '../codegen.preset';

export default subgraphCodegen('audit', { AuditEntry: '../audit/model#AuditRecord' });
