%0 = clus.pool
