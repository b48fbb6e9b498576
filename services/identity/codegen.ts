import { subgraphCodegen } from '../../codegen.preset';

export default subgraphCodegen('identity', { Agent: '../models/agent#AgentRecord' });
