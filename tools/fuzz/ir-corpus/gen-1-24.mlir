func.func @f0(%a0: tensor<3x7x196xbf16>) -> (tensor<3x7x196xbf16>) {
  %v1 = clus.soft_assign %a0 : tensor<3x7x196xbf16>
  return %v1 : tensor<3x7x196xbf16>
}
