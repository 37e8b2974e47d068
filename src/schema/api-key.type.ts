import { Field, ObjectType } from 'type-graphql';

@ObjectType({ description: 'An API key\'s record. The key itself is shown only once, by createApiKey.' })
export class ApiKey {
  @Field() id!: string;
  @Field({ description: 'The account this key acts as.' }) name!: string;
  @Field({ description: 'reader, writer, governor, admin or validator' }) role!: string;
  @Field(() => [String], { nullable: true, description: 'The agents whose query audits the key may record; null for any agent\'s.' })
  agents!: string[] | null;
  @Field() createdBy!: string;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) revokedAt!: Date | null;
}

@ObjectType()
export class CreatedApiKey {
  @Field({ description: 'The secret: send it as `Authorization: Bearer <key>`. It cannot be shown again.' })
  key!: string;
  @Field(() => ApiKey) apiKey!: ApiKey;
}

@ObjectType({ description: 'A did:key allowed to sign requests (X-Chainproof-DID/-Timestamp/-Signature).' })
export class KnownDid {
  @Field() did!: string;
  @Field() name!: string;
  @Field() role!: string;
  @Field(() => [String], { nullable: true, description: 'The agents whose query audits the DID may record; null for any agent\'s.' })
  agents!: string[] | null;
  @Field() registeredBy!: string;
  @Field() registeredAt!: Date;
  @Field(() => Date, { nullable: true }) revokedAt!: Date | null;
}
