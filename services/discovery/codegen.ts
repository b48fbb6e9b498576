import { subgraphCodegen } from '../../codegen.preset';

export default subgraphCodegen('discovery', {
  ServiceInstance: '../models/instance#InstanceRecord',
  Agent: '../resolvers/Agent#AgentRef',
});
