import { DateTimeResolver } from 'graphql-scalars';
import type { Resolvers } from '../__generated__/resolvers-types';
import type { BreakerTrips } from '../breaker-trips';
import type { InstanceModel } from '../models/instance';
import { agentResolvers } from './Agent';
import { agentPerformanceResolvers } from './AgentPerformance';
import { mutationResolvers } from './Mutation';
import { queryResolvers } from './Query';
import { serviceInstanceResolvers } from './ServiceInstance';

export function createResolvers(instances: InstanceModel, trips: BreakerTrips): Resolvers {
  return {
    DateTime: DateTimeResolver,
    Query: queryResolvers(instances),
    Mutation: mutationResolvers,
    Agent: agentResolvers,
    AgentPerformance: agentPerformanceResolvers(trips),
    ServiceInstance: serviceInstanceResolvers,
  };
}
