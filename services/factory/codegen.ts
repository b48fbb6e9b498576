import { subgraphCodegen } from '../../codegen.preset';

export default subgraphCodegen('factory', {
  AgentDefinition: '../models/definition#DefinitionRecord',
  AgentBuild: '../models/build#BuildRecord',
  Agent: '../resolvers/Agent#AgentReference',
});
