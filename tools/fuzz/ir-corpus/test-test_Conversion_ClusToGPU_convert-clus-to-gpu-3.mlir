func.func @soft_assign_pool(%l: tensor<?x49x196xf16>, %x: tensor<?x196x64xf16>) -> tensor<?x49x64xf16> {
  %z = clus.soft_assign %l : tensor<?x49x196xf16>
  %y = clus.pool %z, %x : tensor<?x49x196xf16>, tensor<?x196x64xf16>
  return %y : tensor<?x49x64xf16>
}
