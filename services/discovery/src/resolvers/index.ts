import { DateTimeResolver } from 'graphql-scalars';
import type { Resolvers } from '../__generated__/resolvers-types';
import type { InstanceModel } from '../models/instance';
import { agentResolvers } from './Agent';
import { mutationResolvers } from './Mutation';
import { queryResolvers } from './Query';
import { serviceInstanceResolvers } from './ServiceInstance';

export function createResolvers(instances: InstanceModel): Resolvers {
  return {
    DateTime: DateTimeResolver,
    Query: queryResolvers(instances),
    Mutation: mutationResolvers,
    Agent: agentResolvers,
    ServiceInstance: serviceInstanceResolvers,
  };
}
