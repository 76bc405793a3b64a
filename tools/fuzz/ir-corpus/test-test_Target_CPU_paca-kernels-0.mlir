func.func @paca(%l: tensor<?x100x?xf32>, %x: tensor<?x?x96xf32>, %q: tensor<?x2x?x48xf32>, %k: tensor<?x2x100x48xf32>) -> (tensor<?x100x96xf32>, tensor<?x2x?x48xf32>) {
  %z = clus.soft_assign %l : tensor<?x100x?xf32>
  %y = clus.pool %z, %x : tensor<?x100x?xf32>, tensor<?x?x96xf32>
  %o = clus.attention %q, [%k, %k] : tensor<?x2x?x48xf32>, [tensor<?x2x100x48xf32>, tensor<?x2x100x48xf32>]
  return %y, %o : tensor<?x100x96xf32>, tensor<?x2x?x48xf32>
}
