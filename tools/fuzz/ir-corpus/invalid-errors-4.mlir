func.func @soft_assign_generic_axis_kind(%l: tensor<2x4x8xf32>) {
  %z = "clus.soft_assign"(%l) <{axis = #clus<metric l2>}> : (tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  return
}
