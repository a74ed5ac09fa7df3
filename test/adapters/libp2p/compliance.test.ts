// Goal: the libp2p binding meets the Network port's contract. Method: the port's compliance suite
// (test/net/network.suite.ts) on real libp2p nodes over TCP on 127.0.0.1.
import { networkComplianceSuite } from '../../net/network.suite.js'
import { libp2pCluster } from './helpers.js'

networkComplianceSuite('libp2p', libp2pCluster)
