import { issuerBehaviour } from "./behaviour";
import { startNodeIssuer } from "./targets";

issuerBehaviour("Node server, npm run issuer", startNodeIssuer);
